"""The generated demo data set (``dataset.json``), shipped with the package."""
