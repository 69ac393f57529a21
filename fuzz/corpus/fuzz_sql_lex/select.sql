SELECT "a""b", 'it''s' FROM bm25_search('docs', 'body', 'q -x', 10) -- c
