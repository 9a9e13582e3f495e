"""Pure view logic of the web app: translations, names, local times, forms to API bodies."""
