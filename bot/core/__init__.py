"""What every layer uses: settings, the engine and unit of work, domain errors, migrations,
attachment storage and text cleaning."""
