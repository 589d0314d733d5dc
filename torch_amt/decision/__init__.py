"""Back-ends: decision stages that turn internal representations into responses."""
