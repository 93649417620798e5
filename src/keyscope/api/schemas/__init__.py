"""Request and response models, one module per resource; inputs and outputs kept apart."""
