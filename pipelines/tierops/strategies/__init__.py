"""Operating strategies: what each tier's plan does tomorrow morning (actions, cadence, holdouts)."""
