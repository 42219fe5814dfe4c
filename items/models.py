from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """Simplici7y's user; custom from the first migration so it never has to be swapped."""
