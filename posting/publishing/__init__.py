"""Publishing: the outbox, the publishers (CMoney, webhook, dry run), the pace and the dispatcher.

``outbox`` owns every state change of a Publication (the send itself in ``sending``; an unknown
outcome, an editor's word and unpublishing in ``reconcile``); ``dispatch`` is what beat runs each minute;
``pace`` decides when an account may send next; ``backends`` talk to the platforms.
"""
