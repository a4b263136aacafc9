"""Paper: PDF through LibreOffice, fonts, QR codes, per-recipient copies and receipt stamps."""
