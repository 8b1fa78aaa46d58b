"""Queued letters to sent ones: jobs, claims and batches, limits, digests, SMTP, the queue,
reconcile. Where each step lives: jobs.py (the loop), gate.py (limits and windows),
mail.py (SMTP and what a refusal means), batch.py (recording outcomes), schedule.py (later
work), digest.py, notices.py (service emails), reconcile.py (the database is the truth).

The job functions are re-exported here because RQ stores each job by its dotted path
(`advocacy.delivery.deliver_letters`...): jobs already in Redis keep working across deploys.
queue.Job lists them; a test checks each path resolves to its function."""

from advocacy.delivery.digest import send_digest as send_digest
from advocacy.delivery.follow_ups import send_follow_ups as send_follow_ups
from advocacy.delivery.jobs import deliver_letters as deliver_letters
from advocacy.delivery.jobs import release_letters as release_letters
from advocacy.delivery.notices import notify_reply as notify_reply
from advocacy.delivery.notices import send_confirmation as send_confirmation
from advocacy.delivery.notices import send_data_link as send_data_link
from advocacy.delivery.notices import send_data_link_for as send_data_link_for
from advocacy.delivery.notices import send_invitation as send_invitation
from advocacy.delivery.notices import send_proof as send_proof
from advocacy.delivery.reply_check import ask_about_reply as ask_about_reply
