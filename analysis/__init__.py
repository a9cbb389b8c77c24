"""Inspect logs -> tidy frames -> statistics -> figures -> report; utility fitting."""
