"""Parameters, errors and settings keys shared by the plugin's parts."""
