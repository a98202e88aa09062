"""The service's routers: one module per area, each an ``APIRouter`` named ``router``."""
