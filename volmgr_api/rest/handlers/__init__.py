"""Request handlers, one module per URL noun (as in openstack/placement)."""
