"""Letters: the spec (what a letter is made of), rendering to .docx, compiled shapes; paper/ makes PDFs,
QR codes, copies and stamps. Knows no database."""
