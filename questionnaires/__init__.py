"""carepop's survey instruments (YAML). This file only lets the folder be installed as the package
data ``carepop.questionnaires.instruments``; see README.md here for the instruments themselves."""
