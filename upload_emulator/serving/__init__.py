"""The HTTP server and everything it promises hostile or slow clients; it imports nothing of the application.

`server` is cheroot set up through its public API, `framing` reads request heads and bodies
strictly (RFC 9112), `watchdog` cuts clients that feed the server too slowly, `lanes` keeps
threads for health, the control plane and API calls, and `contract` is all the server and
the application say to each other.
"""
