"""Families: a guardian (and a pupil for their own loans) reserves, signs and reports."""
