"""The web console and endpoints: where officers, coordinators and editors work; health; webhook.

An aiohttp app from `app.create_app()`. May import service and everything below it; never
channels.
"""
