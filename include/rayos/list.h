/* Intrusive doubly linked lists (the node lives inside the object it links). */
#ifndef RAYOS_LIST_H
#define RAYOS_LIST_H

#include <rayos/types.h>

struct list_node {
    struct list_node *next, *prev;
};

#define LIST_INIT(name)                                                                            \
    {                                                                                              \
        &(name), &(name)                                                                           \
    }
#define LIST_HEAD(name) struct list_node name = LIST_INIT(name)

static inline void list_init(struct list_node *head)
{
    head->next = head->prev = head;
}
static inline bool list_empty(const struct list_node *head)
{
    return head->next == head;
}
static inline void list_insert_between(struct list_node *node, struct list_node *prev,
                                       struct list_node *next)
{
    node->next = next;
    node->prev = prev;
    prev->next = node;
    next->prev = node;
}
static inline void list_add_head(struct list_node *head, struct list_node *node)
{
    list_insert_between(node, head, head->next);
}
static inline void list_add_tail(struct list_node *head, struct list_node *node)
{
    list_insert_between(node, head->prev, head);
}
static inline void list_remove(struct list_node *node)
{
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->next = node->prev = node;
}

#define list_entry(node, type, member) container_of(node, type, member)
#define list_first(head, type, member)                                                             \
    (list_empty(head) ? NULL : list_entry((head)->next, type, member))
#define list_for_each(pos, head) for (pos = (head)->next; pos != (head); pos = pos->next)
#define list_for_each_safe(pos, tmp, head)                                                         \
    for (pos = (head)->next, tmp = pos->next; pos != (head); pos = tmp, tmp = pos->next)
#define list_for_each_entry(pos, head, member)                                                     \
    for (pos = list_entry((head)->next, __typeof__(*pos), member); &pos->member != (head);         \
         pos = list_entry(pos->member.next, __typeof__(*pos), member))
#define list_for_each_entry_safe(pos, tmp, head, member)                                           \
    for (pos = list_entry((head)->next, __typeof__(*pos), member),                                 \
        tmp = list_entry(pos->member.next, __typeof__(*pos), member);                              \
         &pos->member != (head);                                                                   \
         pos = tmp, tmp = list_entry(tmp->member.next, __typeof__(*tmp), member))

#endif
