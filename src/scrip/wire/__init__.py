"""The JSON contract (Pydantic v2), shared by the API, the Python client and the agent."""
