"""The running desk: one transaction per turn (desk), delivery (sender), tickets, officers,
per-chat limits, retention and content reload.

Does the I/O the pure core leaves out: calls the conversation core, stores through store/. May
import conversation, understanding, content and store; never channels or web.
"""
