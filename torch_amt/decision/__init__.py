"""Back ends: decision stages that compare or classify internal representations."""
