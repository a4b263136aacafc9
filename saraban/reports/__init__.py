"""Reports: registers, status and programme reports as .docx and .xlsx (and charts)."""
