"The analysis of a results tree: reading runs, the frontier and persistence, tables, figures, and the report that writes them."
