"""The console's operator routes (the admin function): one Powertools router per module."""
