"""Who letters go to: the officials' files, their rows as text, and choosing them for a letter."""
