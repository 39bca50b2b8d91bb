import psycopg, redis
