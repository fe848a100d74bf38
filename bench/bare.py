"""A bare FastAPI route: what the gateway's reads are compared against."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/api/customers/{customer_id}")
async def customer(customer_id: str) -> dict[str, str]:
    return {"id": customer_id, "name": "Đọc thử", "lifecycle_stage": "prospect"}
