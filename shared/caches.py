"""How many entries the caches keyed by a text keep.

Several pure functions over an item's texts (segmenting, the words of a title, the lower-cased
haystack, where jieba's words start and end, the glossary entries a text contains) are memoised
by the text. Each entry holds one or more derived copies of that text, a few hundred bytes to
several KiB for a description. At 65,536 entries each, these caches grew with every item a
matching worker held until past 13,000 items (an item has up to five texts) and then held
hundreds of MiB for descriptions of real length, whatever the worker's size. An item's text is
analysed once per version (its terms are kept by the text model); the caches serve the texts of
the items being scored now and their partners, so 8,192 entries, the texts of ~2,000–8,000
recently touched items, keep them bounded (tens of MiB) at any number of open items.
"""

TEXT_CACHE_ENTRIES = 8192
