-- The price indexes also cover the facet columns, so that a price range that is
-- not made of whole bands (min_price=1000&max_price=5000) counts its facets from
-- a range of the index (~3 ms for 4% of 100,000 products) instead of a scan of
-- every active product's facet entry (~35 ms). Sorting by price walks them as
-- before.
ALTER TABLE products
    DROP KEY ix_products_price,
    ADD KEY ix_products_price (active, price, id, category_slug, category_name, price_band, stock);
ALTER TABLE product_categories
    DROP KEY ix_product_categories_price,
    ADD KEY ix_product_categories_price (slug, price, product_id, category_slug, category_name,
                                         price_band, in_stock);
