"""The gateway: users, roles and login, and the one door to every service's /api/."""
