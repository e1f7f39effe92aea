"""The domain: plain functions on an SQLAlchemy session. No Flask request, no Socket.IO.

Services add and flush and raise DomainError; the caller commits.
"""
