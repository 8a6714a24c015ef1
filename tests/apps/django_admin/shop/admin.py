from django.contrib import admin

from .models import Order, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0  # rows are added with the admin's own "Add another" script


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("customer", "status", "line_count")
    list_filter = ("status",)
    search_fields = ("customer", "lines__product")
    inlines = (OrderLineInline,)

    @admin.display(description="lines")
    def line_count(self, order: Order) -> int:
        return order.lines.count()
