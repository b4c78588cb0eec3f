import os


def list_files(path):
    """Return the names of the files in path."""
    files = []
    for name in os.listdir(path):
        
    return files
