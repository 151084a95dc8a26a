"""What a customer reads, rendered from HTML templates: invoices, receipts and statements.

The templates (``templates/documents/``) are Jinja2 HTML; WeasyPrint lays the same HTML out as a
PDF, so the receipt page a browser shows and the PDF mailed or downloaded are one template. The
package renders only what it is given (plain dataclasses): loading is the caller's, so the API's
services and the worker's activities share it without either importing the other.
"""
