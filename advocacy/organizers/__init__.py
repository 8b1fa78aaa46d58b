"""What organizers do: accounts, moderation, editing and importing officials, pausing and
limiting delivery, test emails."""
