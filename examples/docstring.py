import os


def list_files(path):
    """
