/*
 * render.c - the users service's documents as the API shows them: users,
 * addresses and times. Pure functions, no I/O, so unit tests call them
 * directly.
 */
#include "users.h"

#include <time.h>

json_object *
user_json(const struct user_row *row)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(row->id));
    json_object_object_add(o, "email", json_object_new_string(row->email));
    json_object_object_add(o, "name", json_object_new_string(row->name));
    json_object_object_add(o, "role", json_object_new_string(arc_role_name(row->role)));
    json_object_object_add(o, "created_at", json_object_new_string(row->created_at));
    return o;
}

static json_object *
str_json(arc_str s)
{
    return json_object_new_string_len(s.ptr, (int)s.len);
}

json_object *
address_json(const struct address_row *a)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(a->id));
    json_object_object_add(o, "name", str_json(a->name));
    json_object_object_add(o, "line1", str_json(a->line1));
    json_object_object_add(o, "line2", str_json(a->line2));
    json_object_object_add(o, "city", str_json(a->city));
    json_object_object_add(o, "postal_code", str_json(a->postal_code));
    json_object_object_add(o, "country", str_json(a->country));
    json_object_object_add(o, "phone", str_json(a->phone));
    json_object_object_add(o, "created_at", str_json(a->created_at));
    return o;
}
