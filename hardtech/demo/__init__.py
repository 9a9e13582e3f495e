"""The demo data set that `hardtech demo` loads: participants of the six party types, offers and
needs in Chinese and English, three hard-tech sessions with registrations and meeting requests.

Generated deterministically by ``python -m hardtech.demo.dataset`` and shipped as
``data/dataset.json``; read it with ``hardtech.demo.dataset.load()``.
"""
