"""The gateway: what optscale-tui says to an OptScale AI LLM gateway, and how it reads the answers.

client.py is the entry point (GatewayClient); see each module's docstring for its part.
"""

