"""The four importers (DESIGN §4) and what they share.

``parsing`` has the entry points every caller uses (``import_file``, ``import_table``), the
cell parsers, the row steps and the result; ``reading`` turns a .csv / .xlsx file into text
rows (an .xlsx file passes ``xlsx_guard`` first). One module per format: ``trainees``,
``job_orders``, ``decisions`` and ``statuses``, each a ``TableFormat`` and its importer.
"""
