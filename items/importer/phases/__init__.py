"""The import's phases, one module each, in the order ``items.importer.run`` takes them: each
reads its live table, fixes what ``checks`` must, and writes through ``context.Run.write``."""
