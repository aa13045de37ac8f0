"""The app's modal dialogs (ModalScreen subclasses with their own Footer: dialogs/base.py); a dialog never imports the app."""
