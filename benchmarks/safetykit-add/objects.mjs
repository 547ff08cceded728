// Generated listing-like objects, about 300 B each serialized.
export function* listings(count) {
  for (let i = 0; i < count; i++) {
    yield { id: `listing-${i}`, title: `Listing ${i}: vintage bike`, price: (i % 5000) / 10, seller_id: `seller-${i % 9973}`, description: 'Barely used, collect from town centre. Cash only, no returns.', tags: ['bike', 'vintage'] };
  }
}
