"""Webhooks to merchants: events raised with the projection writes (``events``), delivery
workflows started after their commit (``dispatch``), and the signed POST of each attempt
(``delivery``)."""
