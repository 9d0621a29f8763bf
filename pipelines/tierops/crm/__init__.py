"""CRM membership sync: tiers mapped onto membership levels and benefits, with hysteresis."""
