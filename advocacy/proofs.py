"""The old home of the test-letter job: jobs queued before the move name
`advocacy.proofs.send_proof` (queue.LEGACY_PATHS). Remove once no queue holds one."""

from advocacy.delivery.notices import send_proof as send_proof
