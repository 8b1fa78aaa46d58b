"""What a letter says: rendering in the sandbox, the one composer, the emails, versions and files.

No Redis and no SMTP here: the worker, the previews and the reports all compose through
`letters.compose`."""
