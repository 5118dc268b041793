"""Evaluation: RSVQA-style accuracy on grounded question sets and MMDU-style judged dialogues (in progress)."""
