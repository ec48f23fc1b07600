-- Demo tenant: a barbershop in Mexico City with two barbers, three services and opening
-- hours with a lunch break. Idempotent: fixed ids and ON CONFLICT DO NOTHING, so seeding
-- twice changes nothing. phone_number_id 100000000000001 is the one the local sandbox and
-- the demo chat use.

INSERT INTO organizations (id, slug, name, timezone, locale, currency, status, plan,
                           waba_id, phone_number_id, display_phone_number)
VALUES ('0b6f1d0e-0000-4000-8000-000000000001', 'barberia-el-centro', 'Barbería El Centro',
        'America/Mexico_City', 'es-MX', 'MXN', 'active', 'free',
        '200000000000001', '100000000000001', '525500000001')
ON CONFLICT DO NOTHING;

INSERT INTO locations (id, organization_id, name, address)
VALUES ('0b6f1d0e-0000-4000-8000-000000000101', '0b6f1d0e-0000-4000-8000-000000000001',
        'Centro', 'Av. Madero 12, Centro Histórico, CDMX')
ON CONFLICT DO NOTHING;

-- Monday to Saturday 10:00–14:00 and 15:00–19:00; closed on Sunday.
INSERT INTO business_hours (id, organization_id, location_id, weekday, opens_at, closes_at)
SELECT ('0b6f1d0e-0000-4000-8000-0000000002' || d || shift)::uuid,
       '0b6f1d0e-0000-4000-8000-000000000001', '0b6f1d0e-0000-4000-8000-000000000101',
       d, opens, closes
FROM generate_series(1, 6) AS d,
     (VALUES (0, time '10:00', time '14:00'), (1, time '15:00', time '19:00')) AS s(shift, opens, closes)
ON CONFLICT DO NOTHING;

INSERT INTO service_types (id, organization_id, name, description, duration_minutes, price_minor, currency)
VALUES
  ('0b6f1d0e-0000-4000-8000-000000000301', '0b6f1d0e-0000-4000-8000-000000000001',
   'Corte de cabello', 'Corte con máquina y tijera, lavado incluido', 30, 20000, 'MXN'),
  ('0b6f1d0e-0000-4000-8000-000000000302', '0b6f1d0e-0000-4000-8000-000000000001',
   'Arreglo de barba', 'Perfilado y toalla caliente', 20, 15000, 'MXN'),
  ('0b6f1d0e-0000-4000-8000-000000000303', '0b6f1d0e-0000-4000-8000-000000000001',
   'Corte y barba', 'Corte de cabello más arreglo de barba', 50, 32000, 'MXN')
ON CONFLICT DO NOTHING;

INSERT INTO staff (id, organization_id, location_id, name, phone, role, permissions)
VALUES
  ('0b6f1d0e-0000-4000-8000-000000000401', '0b6f1d0e-0000-4000-8000-000000000001',
   '0b6f1d0e-0000-4000-8000-000000000101', 'José María Ramírez', '525511110001', 'owner',
   '{view_business_schedule}'),
  ('0b6f1d0e-0000-4000-8000-000000000402', '0b6f1d0e-0000-4000-8000-000000000001',
   '0b6f1d0e-0000-4000-8000-000000000101', 'Luis Torres', '525511110002', 'employee', '{}')
ON CONFLICT DO NOTHING;

-- José María does everything; Luis does cuts and beards but not the combined service.
INSERT INTO staff_services (organization_id, staff_id, service_type_id)
VALUES
  ('0b6f1d0e-0000-4000-8000-000000000001', '0b6f1d0e-0000-4000-8000-000000000401', '0b6f1d0e-0000-4000-8000-000000000301'),
  ('0b6f1d0e-0000-4000-8000-000000000001', '0b6f1d0e-0000-4000-8000-000000000401', '0b6f1d0e-0000-4000-8000-000000000302'),
  ('0b6f1d0e-0000-4000-8000-000000000001', '0b6f1d0e-0000-4000-8000-000000000401', '0b6f1d0e-0000-4000-8000-000000000303'),
  ('0b6f1d0e-0000-4000-8000-000000000001', '0b6f1d0e-0000-4000-8000-000000000402', '0b6f1d0e-0000-4000-8000-000000000301'),
  ('0b6f1d0e-0000-4000-8000-000000000001', '0b6f1d0e-0000-4000-8000-000000000402', '0b6f1d0e-0000-4000-8000-000000000302')
ON CONFLICT DO NOTHING;

-- Both work the opening hours; Luis starts at 11:00 on Saturdays.
INSERT INTO staff_working_hours (id, organization_id, staff_id, weekday, starts_at, ends_at)
SELECT ('0b6f1d0e-0000-4000-8000-000000005' || right(staff::text, 1) || d || shift)::uuid,
       '0b6f1d0e-0000-4000-8000-000000000001', staff, d,
       CASE WHEN staff = '0b6f1d0e-0000-4000-8000-000000000402' AND d = 6 AND shift = 0
            THEN time '11:00' ELSE starts END,
       ends
FROM unnest(ARRAY['0b6f1d0e-0000-4000-8000-000000000401',
                  '0b6f1d0e-0000-4000-8000-000000000402']::uuid[]) AS staff,
     generate_series(1, 6) AS d,
     (VALUES (0, time '10:00', time '14:00'), (1, time '15:00', time '19:00')) AS s(shift, starts, ends)
ON CONFLICT DO NOTHING;
