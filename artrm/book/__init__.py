"""The book layer: notebook helpers, report tables, figures, the paper's numbers, the PDF."""
