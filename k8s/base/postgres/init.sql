-- One database per service (database per service), created on the first start of an empty
-- PostgreSQL data directory by the image's docker-entrypoint-initdb.d. Each service creates its
-- own schema and tables in its database through its migrations at start.
-- k8s/base/postgres/init.sql is a copy of this file (kustomize reads only files below its
-- folder); test/integration/delivery-k8s.spec.ts keeps the two identical.
CREATE DATABASE students;
CREATE DATABASE courses;
CREATE DATABASE users;
CREATE DATABASE notifications;
CREATE DATABASE schedule;
CREATE DATABASE assignments;
CREATE DATABASE gradebook;
CREATE DATABASE quizzes;
CREATE DATABASE profiles;
CREATE DATABASE reports;
